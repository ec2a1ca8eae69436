"""Load a DAG folder with Airflow's own DagBag and print what it holds, as JSON on the last line of stdout.

Run with the Python of an Airflow installation (it imports nothing from specops):

    python airflow_dags.py DAG_FOLDER
    -> {"import_errors": {file: last line of the error}, "dags": {dag_id: {schedule, tasks: {...}, ...}}}

Safe mode is off: a file is parsed even when its text does not mention both "airflow" and "dag".
"""

import contextlib
import io
import json
import sys


def main(folder: str) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # Airflow's logging writes to stdout
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=folder, safe_mode=False)
    return {
        "import_errors": {path: text.strip().splitlines()[-1] for path, text in bag.import_errors.items()},
        "dags": {dag.dag_id: {
            "fileloc": dag.fileloc,
            "schedule": _schedule(dag),
            "max_active_tasks": dag.max_active_tasks,
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "tags": sorted(dag.tags),
            "tasks": {task.task_id: {"operator": type(task).__name__, "upstream": sorted(task.upstream_task_ids),
                                     "retries": task.retries, "command": getattr(task, "bash_command", None)}
                      for task in dag.tasks},
        } for dag in bag.dags.values()},
    }


def _schedule(dag) -> str | None:
    """The cron expression (or other schedule) the DAG was given; None when it only runs when triggered."""
    schedule = getattr(dag, "schedule", None)
    if schedule is None or isinstance(schedule, str):
        return schedule
    summary = getattr(dag.timetable, "summary", None)
    return None if summary in (None, "None") else str(summary)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), sort_keys=True))
