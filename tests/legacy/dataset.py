"""A generated legacy MongoDB database of the existing todo app, quirks included, in known counts.

`build(seed, users)` makes the documents (deterministic for a seed; about 17 documents per user);
`generate(db, seed, users)` writes them to the PHYSICAL collections of the existing app through the
raw database (`task_details`, `watchlist`, ... — not the dual-write names), so that a test proves
the mapping's `mongo_collection` resolution. The returned `LegacySummary` says what was planted:

- reference fields as 24-hex strings (as the app inserts them) and as ObjectIds (after a later
  `$set`), mixed within one field across documents; `string_refs` / `objectid_refs` count them;
- ISO-8601 string timestamps (`createdAt`/`created_at` of some documents, every used invite code's
  `used_at`), counted in `iso_dates`; a used invite code's `used_by` is a raw string;
- duplicates no unique index prevented: a membership stored once with string ids and once with
  ObjectIds, and a second watchlist entry for one (user, task); `duplicates` names each group's ids,
  oldest `_id` first (the one that wins);
- soft deletes under each collection's own flag (`isDeleted`, `is_deleted`, `is_active`,
  `isActive`), counted in `soft_deleted`;
- keys the app's models drop (`role_id: "1"` on memberships, `details` on audit logs).

`focus` names one user whose data covers every form (memberships with string ids and with
ObjectIds, a watchlist entry with string ids, tasks assigned in both forms) for API tests.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from todo.services.seed_service import LABELS, ROLES

# The physical collections of the existing app (dual-write name → physical where they differ).
PHYSICAL = {"task_assignments": "task_details", "watchlists": "watchlist"}
COLLECTIONS = (
    "users",
    "tasks",
    "teams",
    "user_team_details",
    "labels",
    "roles",
    "user_roles",
    "audit_logs",
    "team_creation_invite_codes",
    "task_details",
    "watchlist",
    "counters",
)
# The existing app starts from the same reference data as this service's seed.
SEEDED_LABELS = LABELS
SEEDED_ROLES = tuple((name, scope) for name, scope, _description in ROLES)
TEAM_SIZE = 5
TASKS_PER_USER = 4
BASE_TIME = dt.datetime(2024, 3, 1)  # naive UTC, as pymongo hands dates back
_CODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class DuplicateGroup:
    """Documents of one collection that share what should be unique; `ids[0]` is the oldest."""

    collection: str  # dual-write name
    physical: str
    key: tuple[str, ...]  # the fields they share
    ids: tuple[str, ...]

    @property
    def winner(self) -> str:
        return self.ids[0]

    @property
    def losers(self) -> tuple[str, ...]:
        return self.ids[1:]


@dataclass(frozen=True)
class FocusUser:
    """One user whose legacy data holds every id form (for API tests)."""

    user_id: str
    string_team: str  # membership stored with 24-hex strings (and duplicated with ObjectIds)
    objectid_team: str  # membership stored with ObjectIds
    watched_string_task: str  # watchlist entry with string ids (duplicated)
    watched_objectid_task: str  # watchlist entry with ObjectIds
    unwatched_task: str  # a task of the user without a watchlist entry
    string_assigned_tasks: tuple[str, ...]  # assignee_id stored as a string
    objectid_assigned_tasks: tuple[str, ...]  # assignee_id stored as an ObjectId
    created_task_string_creator: str  # a task the user created, createdBy a string


@dataclass
class LegacySummary:
    seed: int
    users: int
    documents: dict[str, int] = field(default_factory=dict)  # physical collection → documents
    string_refs: dict[str, int] = field(default_factory=dict)  # physical collection → references
    objectid_refs: dict[str, int] = field(default_factory=dict)
    iso_dates: dict[str, int] = field(default_factory=dict)  # physical collection → string timestamps
    soft_deleted: dict[str, int] = field(default_factory=dict)
    dropped_keys: dict[str, int] = field(default_factory=dict)  # "collection.key" → documents
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    focus: FocusUser | None = None

    @property
    def total(self) -> int:
        return sum(self.documents.values())

    def mirrored(self, collection: str) -> int:
        """Documents of a dual-write collection."""
        return self.documents.get(PHYSICAL.get(collection, collection), 0)

    def losers(self, collection: str) -> set[str]:
        """The planted duplicates that must not win, of a dual-write collection."""
        return {i for g in self.duplicates if g.collection == collection for i in g.losers}


class _Builder:
    def __init__(self, seed: int, users: int) -> None:
        if users < 2 * TEAM_SIZE:
            raise ValueError(f"users must be at least {2 * TEAM_SIZE}")
        self.rng = random.Random(seed)
        self.users = users
        self.clock = 0
        self.docs: dict[str, list[dict[str, Any]]] = {name: [] for name in COLLECTIONS}
        self.summary = LegacySummary(seed=seed, users=users)
        self.string_refs: Counter[str] = Counter()
        self.objectid_refs: Counter[str] = Counter()
        self.iso: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.codes: set[str] = set()

    # -- primitives ------------------------------------------------------------------------------
    def oid(self) -> ObjectId:
        """A new ObjectId, later than every earlier one (generation order is _id order)."""
        self.clock += 1
        stamp = int((BASE_TIME + dt.timedelta(seconds=self.clock)).replace(tzinfo=dt.UTC).timestamp())
        return ObjectId(struct.pack(">I", stamp) + self.rng.randbytes(8))

    def moment(self) -> dt.datetime:
        return BASE_TIME + dt.timedelta(seconds=self.clock, milliseconds=self.rng.randrange(1000))

    def ref(self, physical: str, value: ObjectId, as_string: bool | None = None) -> str | ObjectId:
        """A reference as the app leaves it: a string on insert, an ObjectId after a `$set`."""
        if as_string is None:
            as_string = self.rng.random() < 0.5
        if as_string:
            self.string_refs[physical] += 1
            return str(value)
        self.objectid_refs[physical] += 1
        return value

    def when(self, physical: str, iso: bool | None = None) -> dt.datetime | str:
        moment = self.moment()
        if iso is None:
            iso = self.rng.random() < 0.2
        if iso:
            self.iso[physical] += 1
            return moment.replace(tzinfo=dt.UTC).isoformat()
        return moment

    def add(self, physical: str, document: dict[str, Any]) -> dict[str, Any]:
        self.docs[physical].append(document)
        return document

    # -- the collections ---------------------------------------------------------------------------
    def build(self) -> LegacySummary:
        self.labels = self._labels()
        self._roles()
        self.user_ids = [self._user(n) for n in range(self.users)]
        self.teams = self._teams()
        self.tasks = self._tasks()
        self._watchlist()
        self._invite_codes()
        self.add("counters", {"_id": "taskDisplayId", "seq": len(self.tasks)})
        s = self.summary
        s.documents = {name: len(docs) for name, docs in self.docs.items()}
        s.string_refs, s.objectid_refs = dict(+self.string_refs), dict(+self.objectid_refs)
        s.iso_dates, s.soft_deleted, s.dropped_keys = (
            dict(+self.iso),
            dict(+self.deleted),
            dict(+self.dropped),
        )
        return s

    def _labels(self) -> list[ObjectId]:
        ids = []
        for name, color in SEEDED_LABELS:
            oid = self.oid()
            ids.append(oid)
            self.add("labels", {
                "_id": oid, "name": name, "color": color, "description": None, "isDeleted": False,
                "createdAt": self.when("labels"), "updatedAt": self.moment(),
                "createdBy": "system", "updatedBy": "system",
            })  # fmt: skip
        # Two soft-deleted labels sharing a name (MongoDB allows it).
        for _ in range(2):
            self.deleted["labels"] += 1
            self.add("labels", {
                "_id": self.oid(), "name": "Obsolete", "color": "#000000", "description": "retired",
                "isDeleted": True, "createdAt": self.moment(), "updatedAt": self.moment(),
                "createdBy": "system", "updatedBy": "system",
            })  # fmt: skip
        return ids

    def _roles(self) -> None:
        for name, scope in SEEDED_ROLES:
            self.add("roles", {
                "_id": self.oid(), "name": name, "description": f"{name} role", "scope": scope,
                "is_active": True, "created_by": "system", "created_at": self.when("roles"),
                "updated_by": None, "updated_at": None,
            })  # fmt: skip

    def _user(self, n: int) -> ObjectId:
        oid = self.oid()
        self.add("users", {
            "_id": oid, "google_id": f"google-{n:06d}", "email_id": f"user{n}@example.com",
            "name": f"User {n}", "picture": None if n % 3 else f"https://pictures.example/{n}.png",
            "created_at": self.when("users"), "updated_at": self.moment(),
        })  # fmt: skip
        if n % 50 == 7:
            self._user_role(oid, "moderator", None, oid)
        return oid

    def _user_role(self, user: ObjectId, role: str, team: ObjectId | None, by: ObjectId) -> None:
        document: dict[str, Any] = {
            "_id": self.oid(), "user_id": self.ref("user_roles", user), "role_name": role,
            "scope": "GLOBAL" if team is None else "TEAM", "is_active": True,
            "created_at": self.when("user_roles"), "created_by": self.ref("user_roles", by),
        }  # fmt: skip
        if team is not None:
            document["team_id"] = self.ref("user_roles", team)
        if self.rng.random() < 0.05:
            document["is_active"] = False
            self.deleted["user_roles"] += 1
        self.add("user_roles", document)

    def _membership(
        self,
        user: ObjectId,
        team: ObjectId,
        by: ObjectId,
        *,
        as_string: bool | None = None,
        active: bool = True,
    ) -> str:
        if as_string is None:
            as_string = self.rng.random() < 0.5
        oid = self.oid()
        document = {
            "_id": oid, "user_id": self.ref("user_team_details", user, as_string),
            "team_id": self.ref("user_team_details", team, as_string), "is_active": active,
            "created_by": self.ref("user_team_details", by, as_string),
            "updated_by": self.ref("user_team_details", by, as_string),
            "created_at": self.when("user_team_details"), "updated_at": self.moment(),
        }  # fmt: skip
        if not active:
            self.deleted["user_team_details"] += 1
        if self.rng.random() < 0.3:
            document["role_id"] = "1"  # stored by callers, dropped by the models
            self.dropped["user_team_details.role_id"] += 1
        self.add("user_team_details", document)
        return str(oid)

    def _audit(self, action: str, by: ObjectId, **refs: Any) -> None:
        document: dict[str, Any] = {"_id": self.oid(), "action": action, "timestamp": self.moment()}
        for key, value in refs.items():
            document[key] = self.ref("audit_logs", value) if isinstance(value, ObjectId) else value
        document["performed_by"] = self.ref("audit_logs", by)
        if self.rng.random() < 0.25:
            document["details"] = {"note": "legacy"}  # stored by callers, dropped by the models
            self.dropped["audit_logs.details"] += 1
        self.add("audit_logs", document)

    def _teams(self) -> list[tuple[ObjectId, list[ObjectId]]]:
        teams = []
        groups = [self.user_ids[i : i + TEAM_SIZE] for i in range(0, self.users - TEAM_SIZE + 1, TEAM_SIZE)]
        for number, members in enumerate(groups):
            creator, poc = members[0], members[1]
            team = self.oid()
            deleted = number % 17 == 16
            self.deleted["teams"] += deleted
            self.add("teams", {
                "_id": team, "name": f"Team {number}", "description": f"team number {number}",
                "poc_id": self.ref("teams", poc), "invite_code": self._code(),
                "created_by": self.ref("teams", creator), "updated_by": self.ref("teams", creator),
                "created_at": self.when("teams"), "updated_at": self.moment(), "is_deleted": deleted,
            })  # fmt: skip
            self._audit("team_created", creator, team_id=team)
            for role in ("owner", "admin"):
                self._user_role(creator, role, team, creator)
            for member in members:
                # user 0 (the focus user) joins team 0 with string ids
                as_string = True if number == 0 else None
                self._membership(member, team, creator, as_string=as_string, active=self.rng.random() > 0.05)
                self._user_role(member, "member", team, creator)
                self._audit("member_added_to_team", creator, team_id=team, assignee_to=member)
            teams.append((team, list(members)))
        # Memberships across teams: every tenth user also belongs to the next team.
        for number, (team, members) in enumerate(teams):
            guest = teams[(number + 1) % len(teams)][1][2]
            self._membership(guest, team, members[0], as_string=False)
            members.append(guest)
        self._focus_memberships(teams)
        return teams

    def _focus_memberships(self, teams: list[tuple[ObjectId, list[ObjectId]]]) -> None:
        user = self.user_ids[0]
        string_team, string_members = teams[0]
        objectid_team, objectid_members = teams[1]
        # user 0 also in team 1, stored with ObjectIds
        self._membership(user, objectid_team, objectid_members[0], as_string=False)
        objectid_members.append(user)
        # The same membership of team 0 again, this time with ObjectIds: a planted duplicate.
        first = next(
            str(d["_id"])
            for d in self.docs["user_team_details"]
            if d["user_id"] == str(user) and d["team_id"] == str(string_team)
        )
        # the original must be active for the focus user's reads
        for d in self.docs["user_team_details"]:
            if str(d["_id"]) == first and not d["is_active"]:
                d["is_active"] = True
                self.deleted["user_team_details"] -= 1
        second = self._membership(user, string_team, string_members[0], as_string=False)
        self.summary.duplicates.append(
            DuplicateGroup("user_team_details", "user_team_details", ("user_id", "team_id"), (first, second))
        )
        # A second group the other way round: ObjectIds first, then the string form.
        team, members = teams[2]
        member = members[3]
        original = next(
            d
            for d in self.docs["user_team_details"]
            if d["user_id"] in (member, str(member)) and d["team_id"] in (team, str(team))
        )
        self._reform(original, "user_team_details", ("user_id", "team_id", "created_by", "updated_by"), False)
        older = str(original["_id"])
        newer = self._membership(member, team, members[0], as_string=True)
        self.summary.duplicates.append(
            DuplicateGroup("user_team_details", "user_team_details", ("user_id", "team_id"), (older, newer))
        )
        self._focus_teams = (str(string_team), str(objectid_team))

    def _tasks(self) -> list[tuple[ObjectId, ObjectId]]:
        """Tasks (each with its creator), their assignments and audit entries."""
        tasks = []
        membership = {m: team for team, members in self.teams for m in members}
        number = 0
        for user in self.user_ids:
            for k in range(TASKS_PER_USER):
                number += 1
                task = self.oid()
                status = self.rng.choice(["TODO", "IN_PROGRESS", "BLOCKED", "DONE", "DEFERRED"])
                document: dict[str, Any] = {
                    "_id": task, "displayId": f"#{number}", "title": f"task {number}",
                    "description": None if number % 3 else f"details of task {number}",
                    "priority": self.rng.choice([1, 2, 3]), "status": status,
                    "isAcknowledged": self.rng.random() < 0.5,
                    "labels": [self.ref("tasks", label) for label in self.rng.sample(self.labels, self.rng.randint(0, 3))],
                    "isDeleted": False, "deferredDetails": None, "startedAt": None,
                    "dueAt": self.moment() + dt.timedelta(days=30) if number % 2 else None,
                    "createdAt": self.when("tasks"), "updatedAt": self.moment(),
                    "createdBy": self.ref("tasks", user), "updatedBy": self.ref("tasks", user),
                }  # fmt: skip
                if status == "DEFERRED":
                    document["status"] = "TODO"  # the API shows DEFERRED while deferredTill is ahead
                    document["deferredDetails"] = {
                        "deferredAt": self.moment(),
                        "deferredTill": self.moment() + dt.timedelta(days=7),
                        "deferredBy": self.ref("tasks", user),
                    }
                if status == "IN_PROGRESS":
                    document["startedAt"] = self.moment()
                if number % 23 == 0:
                    document["isDeleted"] = True
                    self.deleted["tasks"] += 1
                self.add("tasks", document)
                tasks.append((task, user))
                self._assign(task, user, membership.get(user), k)
                if status in ("DONE", "BLOCKED"):
                    self._audit("status_changed", user, task_id=task, status_from="TODO", status_to=status)
        self._focus_tasks(tasks)
        return tasks

    def _assign(self, task: ObjectId, user: ObjectId, team: ObjectId | None, k: int) -> None:
        physical = "task_details"
        if k == 1 and self.rng.random() < 0.5:
            # an earlier assignment, deactivated by a reassignment
            self.deleted[physical] += 1
            self.add(physical, {
                "_id": self.oid(), "task_id": self.ref(physical, task),
                "assignee_id": self.ref(physical, self.rng.choice(self.user_ids)), "user_type": "user",
                "team_id": None, "executor_id": None, "is_active": False,
                "created_by": self.ref(physical, user), "updated_by": self.ref(physical, user),
                "created_at": self.when(physical), "updated_at": self.moment(),
            })  # fmt: skip
        to_team = k == 3 and team is not None
        assignee = team if to_team else user
        assert assignee is not None
        self.add(physical, {
            "_id": self.oid(), "task_id": self.ref(physical, task), "assignee_id": self.ref(physical, assignee),
            "user_type": "team" if to_team else "user", "team_id": self.ref(physical, team) if to_team else None,
            "executor_id": None, "is_active": True,
            "created_by": self.ref(physical, user), "updated_by": self.ref(physical, user),
            "created_at": self.when(physical), "updated_at": self.moment(),
        })  # fmt: skip
        if to_team:
            self._audit("assigned_to_team", user, task_id=task, team_id=team)

    def _focus_tasks(self, tasks: list[tuple[ObjectId, ObjectId]]) -> None:
        """Pin the id forms of the focus user's first tasks and their active assignments."""
        user = self.user_ids[0]
        mine = [str(t) for t, creator in tasks if creator == user][:TASKS_PER_USER]
        forms = {mine[0]: True, mine[1]: False, mine[2]: True}  # task id → assignee as a string
        for document in self.docs["task_details"]:
            task_id = str(document["task_id"])
            if task_id in forms and document["is_active"] and document["user_type"] == "user":
                self._reform(document, "task_details", ("task_id", "assignee_id"), forms[task_id])
        for document in self.docs["tasks"]:
            if str(document["_id"]) in forms:  # open and live, so that the default task list shows them
                self.deleted["tasks"] -= document["isDeleted"]
                document["status"], document["isDeleted"] = "TODO", False
            if str(document["_id"]) == mine[0]:
                self._reform(document, "tasks", ("createdBy", "updatedBy"), True)
        self._focus_task_ids = mine
        self._focus_string_tasks = tuple(t for t, s in forms.items() if s)
        self._focus_objectid_tasks = tuple(t for t, s in forms.items() if not s)

    def _reform(
        self, document: dict[str, Any], physical: str, keys: tuple[str, ...], as_string: bool
    ) -> None:
        for key in keys:
            value = document[key]
            if isinstance(value, str):
                self.string_refs[physical] -= 1
            else:
                self.objectid_refs[physical] -= 1
            document[key] = self.ref(physical, ObjectId(str(value)), as_string)

    def _watch(self, user: ObjectId, task: ObjectId, as_string: bool | None = None) -> str:
        physical = "watchlist"
        if as_string is None:
            as_string = self.rng.random() < 0.5
        oid = self.oid()
        active = self.rng.random() > 0.1
        self.deleted[physical] += not active
        self.add(physical, {
            "_id": oid, "taskId": self.ref(physical, task, as_string), "userId": self.ref(physical, user, as_string),
            "isActive": active, "createdAt": self.when(physical), "createdBy": self.ref(physical, user, as_string),
            "updatedAt": self.moment(), "updatedBy": self.ref(physical, user, as_string),
        })  # fmt: skip
        return str(oid)

    def _watchlist(self) -> None:
        user = self.user_ids[0]
        mine = self._focus_task_ids
        others = [t for t, creator in self.tasks if creator != user]
        for other in self.user_ids[1:]:
            self._watch(other, self.rng.choice(others))
        first = self._watch(user, ObjectId(mine[0]), as_string=True)
        self._watch(user, ObjectId(mine[1]), as_string=False)
        for d in self.docs["watchlist"][-2:]:  # the focus user's entries are active
            if not d["isActive"]:
                d["isActive"] = True
                self.deleted["watchlist"] -= 1
        duplicate = self._watch(user, ObjectId(mine[0]), as_string=False)  # a planted duplicate
        self.summary.duplicates.append(
            DuplicateGroup("watchlists", "watchlist", ("userId", "taskId"), (first, duplicate))
        )
        self.summary.focus = FocusUser(
            user_id=str(user),
            string_team=self._focus_teams[0],
            objectid_team=self._focus_teams[1],
            watched_string_task=mine[0],
            watched_objectid_task=mine[1],
            unwatched_task=mine[2],
            string_assigned_tasks=self._focus_string_tasks,
            objectid_assigned_tasks=self._focus_objectid_tasks,
            created_task_string_creator=mine[0],
        )

    def _code(self) -> str:
        while True:
            code = "".join(self.rng.choice(_CODE_CHARS) for _ in range(6))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _invite_codes(self) -> None:
        physical = "team_creation_invite_codes"
        creator = self.user_ids[7]  # a moderator
        for number, (team, members) in enumerate(self.teams):
            used = number % 4 != 3
            document: dict[str, Any] = {
                "_id": self.oid(), "code": self._code(), "description": f"for team {number}",
                "created_by": self.ref(physical, creator), "created_at": self.when(physical),
                "is_used": used, "used_by": None, "used_at": None,
            }  # fmt: skip
            if used:
                document["used_by"] = str(members[0])  # a raw string, as the app stores it
                self.string_refs[physical] += 1
                document["used_at"] = self.when(physical, iso=True)
                self._audit("team_creation_invite_code_consumed", members[0], team_id=team)
            self.add(physical, document)


def build(seed: int = 0, users: int = 20) -> tuple[dict[str, list[dict[str, Any]]], LegacySummary]:
    """The documents per physical collection, and what they hold."""
    builder = _Builder(seed, users)
    summary = builder.build()
    return builder.docs, summary


def users_for(documents: int) -> int:
    """The `users` that makes about `documents` documents."""
    users = 100
    for _ in range(3):  # nearly linear: a few fixed collections (labels, roles, a counter)
        _docs, summary = build(0, users)
        users = max(2 * TEAM_SIZE, round(users * documents / summary.total))
    return users


def generate(db: Any, seed: int = 0, users: int = 20) -> LegacySummary:
    """Write a generated legacy database into `db` (a pymongo/mongomock Database) under the
    existing app's physical collection names; returns what was planted."""
    docs, summary = build(seed, users)
    for name, documents in docs.items():
        if documents:
            db[name].insert_many(documents)
    return summary
