"""The ``workbench`` command: jobs that are not notebooks.

Run ``workbench --help`` for the list of jobs, ``workbench JOB --help`` for one.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import closing

from workbench.stores import StoreError, describe_store, parse_store

DESCRIPTION = """\
Event-Driven Development Workbench: jobs for the command line.

Jobs:
  classroom  set up a shared PostgreSQL store for a workshop (instructor and attendee roles)
  export     write a notebook, run, as one static HTML page (a handout), offline
  generate   write a seeded, believable ticket-sales history into a store
  info       say what a store holds (how many events, of which types)
  lab        JupyterLab on the notebooks, set up with Python alone (what make lab runs)
  reset      put the committed sample history back in your workspace (var/workspace/)
  sample     rebuild the committed sample history in data/sample/
  voila      show a notebook as a dashboard (Voila), offline

Stores are named as everywhere in the workbench: 'memory', an SQLite file
('history.sqlite' or 'sqlite:///history.sqlite'), a folder (one SQLite file per
application), or 'postgresql://user:password@host:5432/dbname'.
"""


def _generate(args: argparse.Namespace) -> int:
    from eventsourcing.persistence import PersistenceError

    from workbench.examples.history import write_history

    try:
        summary = write_history(
            args.store,
            events=args.events,
            seed=args.seed,
            folder=args.folder,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        print(
            f"workbench generate: interrupted, no complete history written to {args.store}",
            file=sys.stderr,
        )
        return 130
    except PersistenceError as e:  # the store refused a write (a full disk...)
        raise ValueError(f"cannot write {args.store}: {e}") from None
    store = parse_store(args.store)
    print(
        f"wrote {summary.events:,} ticketing events"
        + (
            f" and {summary.sponsorship_events:,} sponsorship events"
            if summary.sponsorship_events
            else ""
        )
        + f" to the {describe_store(store)}: {summary.conferences} conferences, "
        f"{summary.purchases:,} purchases ({summary.paid:,} paid, "
        f"{summary.timed_out:,} timed out), "
        f"{summary.cancelled_tickets:,} tickets cancelled, {summary.sponsors} sponsors"
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    from workbench.examples.history import SAMPLE_DIR, SAMPLE_EVENTS, SAMPLE_SEED

    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for f in SAMPLE_DIR.glob("*.sqlite*"):
        f.unlink()
    ns = argparse.Namespace(
        store=str(SAMPLE_DIR), events=SAMPLE_EVENTS, seed=SAMPLE_SEED, quiet=True, folder=True
    )
    status = _generate(ns)
    for f in SAMPLE_DIR.glob("*.sqlite"):
        # A self-contained file: readers opening it read-only leave no -wal/-shm files behind.
        with closing(sqlite3.connect(f)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("VACUUM")
    return status


def _reset(args: argparse.Namespace) -> int:
    from workbench.samples import SAMPLE_DIR, reset_plan, reset_workspace

    folder, files = reset_plan(args.folder)
    if files:
        print(f"workbench reset: in {folder} this removes, with every event recorded there:")
        for f in files:
            print(f"  {f.name}  ({f.stat().st_size:,} bytes)")
    else:
        print(f"workbench reset: {folder} holds no workspace files yet; nothing is removed")
    print(f"and copies the committed sample ({SAMPLE_DIR}) there; other files are left alone.")
    if files and not args.yes:
        if not sys.stdin.isatty():
            print("workbench reset: nothing changed; pass --yes to do it", file=sys.stderr)
            return 1
        if input("Reset the workspace? [y/N] ").strip().lower() not in ("y", "yes"):
            print("workbench reset: nothing changed")
            return 1
    reset_workspace(folder)
    print(f"workbench reset: {folder} holds the sample history again")
    return 0


def _info(args: argparse.Namespace) -> int:
    from collections import Counter

    from workbench.reading import open_history, short_name

    history = open_history(args.store)
    counts: Counter[str] = Counter()
    for batch in history.reader.batches():
        counts.update(short_name(r.topic) for r in batch)
    print(f"{history.description}: {sum(counts.values()):,} events")
    for name, n in counts.most_common():
        print(f"  {n:>10,}  {name}")
    return 0


def _classroom(args: argparse.Namespace) -> int:
    from workbench import classroom

    if args.drop:
        dropped = classroom.drop(args.admin_url, args.name)
        print(
            f"classroom {args.name}: schema, events and roles dropped"
            if dropped
            else f"classroom {args.name}: there is none in that database, nothing dropped"
        )
        return 0
    room = classroom.set_up(args.admin_url, args.name, host=args.host)
    print(room.report())
    return 0


def _lab(args: argparse.Namespace) -> int:
    from workbench.lab import prepare_lab, run_lab

    plan = prepare_lab(
        args.notebooks,
        home=args.home,
        workspace_dir=args.workspace,
        host=args.host,
        port=args.port,
        browser=args.browser,
    )
    if args.dry_run:
        print(f"notebooks: {plan.notebooks}")
        print(f"workspace: {plan.workspace}")
        print(f"kernel:    {plan.kernel}")
        print(plan.command_line())
        return 0
    return run_lab(plan)


def _export(args: argparse.Namespace) -> int:
    from workbench.handouts import export_notebook

    page = export_notebook(args.notebook, args.output)
    print(f"wrote {page}")
    return 0


def _voila(args: argparse.Namespace) -> int:
    from workbench.dashboards import serve_dashboard

    try:
        return serve_dashboard(args.notebook, port=args.port)
    except FileNotFoundError as e:
        raise ValueError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    jobs = parser.add_subparsers(dest="job", metavar="JOB")

    gen = jobs.add_parser(
        "generate",
        help="write a seeded ticket-sales history into a store",
        description=(
            "Write a believable, seeded history of conference ticket sales (early-bird and "
            "standard prices, discount codes, timeouts, cancellations, sponsors' free tickets). "
            "Same seed, same events. The store must be new or empty. An SQLite file gets the "
            "ticketing history; a folder (--folder) gets ticketing.sqlite and sponsorship.sqlite."
        ),
    )
    gen.add_argument("--store", required=True, help="where to write, e.g. big.sqlite")
    gen.add_argument("--events", type=int, default=1_000_000, help="about how many events")
    gen.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")
    gen.add_argument("--folder", action="store_true", help="treat --store as a folder")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(run=_generate)

    info = jobs.add_parser(
        "info",
        help="say what a store holds",
        description="Count a store's events by type, without importing the code that wrote them.",
    )
    info.add_argument("store", help="an SQLite file")
    info.set_defaults(run=_info)

    reset = jobs.add_parser(
        "reset",
        help="put the committed sample history back in your workspace",
        description=(
            "Replace the workspace's ticketing.sqlite and sponsorship.sqlite (and their "
            "SQLite journals) with the committed sample in data/sample/: every event recorded "
            "there is lost. Asks first (or pass --yes). Refused while a kernel has them open. "
            "The workspace is --folder, else WORKBENCH_WORKSPACE, else var/workspace/ "
            "(what make lab uses)."
        ),
    )
    reset.add_argument("--folder", help="the workspace folder (default: var/workspace/)")
    reset.add_argument("--yes", action="store_true", help="do it without asking")
    reset.set_defaults(run=_reset)

    sample = jobs.add_parser(
        "sample",
        help="rebuild the committed sample history",
        description="Regenerate data/sample/ (the small history the notebooks and tests use).",
    )
    sample.set_defaults(run=_sample)

    room = jobs.add_parser(
        "classroom",
        help="set up a shared PostgreSQL store for a workshop",
        description=(
            "Make a workshop's shared store on a PostgreSQL server: a schema named --name, "
            "the workshop applications' tables, an instructor role that owns them and an "
            "attendee role that may only read and append events. Prints the line attendees "
            "paste into their notebook. Run it again to print it again; --drop removes it all."
        ),
    )
    room.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser's URL; the classroom goes in its database "
        "(default postgresql://postgres@127.0.0.1:5432/postgres)",
    )
    room.add_argument(
        "--name", default="classroom", help="schema and role prefix (default classroom)"
    )
    room.add_argument(
        "--host", help="the server's name as attendees reach it (default: the admin URL's host)"
    )
    room.add_argument("--drop", action="store_true", help="remove the schema, events and roles")
    room.set_defaults(run=_classroom)

    voila = jobs.add_parser(
        "voila",
        help="show a notebook as a dashboard (Voila), offline",
        description=(
            "Serve a notebook, or a folder of notebooks, as a Voila dashboard on "
            "127.0.0.1 with a template that loads nothing from the internet."
        ),
    )
    voila.add_argument("notebook", help="a .ipynb file or a folder")
    voila.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    voila.set_defaults(run=_voila)

    lab = jobs.add_parser(
        "lab",
        help="JupyterLab on the notebooks, set up with Python alone",
        description=(
            "Prepare your workspace (the sample history, copied once), register this Python "
            "as the python3 kernel, then start JupyterLab on the notebooks, offline (no news, "
            "no update checks). The notebooks are the checkout's notebooks/ when the "
            "workbench runs from a clone; an installed package copies its own into "
            "~/workbench-workshop/notebooks/ (--home) once. make lab runs this job."
        ),
    )
    lab.add_argument("--notebooks", help="the notebooks folder (default: the checkout's)")
    lab.add_argument(
        "--home",
        help="an installed package's folder for its notebooks and workspace "
        "(default ~/workbench-workshop)",
    )
    lab.add_argument(
        "--workspace",
        help="your store's folder (default: $WORKBENCH_WORKSPACE, else var/workspace/ "
        "beside the notebooks folder)",
    )
    lab.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    lab.add_argument("--port", type=int, default=8888, help="port (default 8888)")
    lab.add_argument("--browser", action="store_true", help="open a browser tab")
    lab.add_argument(
        "--dry-run", action="store_true", help="prepare, print the command, start nothing"
    )
    lab.set_defaults(run=_lab)

    export = jobs.add_parser(
        "export",
        help="write a notebook, run, as one static HTML page (a handout), offline",
        description=(
            "Run a copy of a notebook (on a fresh copy of the sample history) and write it "
            "as one HTML page with its outputs; charts are drawn in as SVG. The page loads "
            "nothing from the internet; interactive widgets show their last state or a note."
        ),
    )
    export.add_argument("notebook", help="a .ipynb file")
    export.add_argument(
        "-o", "--output", help="the page to write (default: NOTEBOOK's name .html, here)"
    )
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except (StoreError, ValueError, OSError, sqlite3.Error) as e:
        # a user's error (a store, a file, a value): one line, never a traceback
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"workbench {args.job}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"workbench {args.job}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["build_parser", "main"]
