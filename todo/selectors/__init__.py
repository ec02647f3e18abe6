"""Reads of the domain (the HackSoft styleguide's selectors): they fetch and shape what the views
and services need and never write. The writes, with their rules, are in todo/services/."""
