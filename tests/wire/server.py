"""A MongoDB wire-protocol server for the tests (mongoeco's proxy over its memory or SQLite engine).

Runs under the Python 3.13 side environment (`.venv-wire`, see the Makefile), not the project's:
    .venv-wire/bin/python tests/wire/server.py [--port N] [--sqlite FILE]
prints `READY mongodb://127.0.0.1:<port>/` once it accepts connections and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal


async def serve(port: int, sqlite: str | None) -> None:
    from mongoeco.wire import AsyncMongoEcoProxyServer

    engine = None
    if sqlite:
        from mongoeco.engines import SQLiteEngine

        engine = SQLiteEngine(sqlite)
    server = AsyncMongoEcoProxyServer(host="127.0.0.1", port=port, engine=engine)
    address = await server.start()
    print(f"READY mongodb://{address.host}:{address.port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sqlite", help="keep the data in this SQLite file (default: memory)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.sqlite))


if __name__ == "__main__":
    main()
