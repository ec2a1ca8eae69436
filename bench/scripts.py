"""Small programs the benchmark runs in their own processes: the floor, and seeding an applied state."""

FLOOR_SCRIPT = '''\
import sys
from pathlib import Path

import yaml

root = Path(sys.argv[1])
files = [root / "specops.yaml", *sorted(p for p in (root / "specs").rglob("*") if p.suffix in (".yaml", ".yml"))]
docs = 0
for path in files:
    docs += sum(1 for _ in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
print(f"{len(files)} files, {docs} documents")
'''

# What a completed `specops apply --env ENV` leaves behind (compiler/apply/runner.py record_desired, with no
# pending work), without running dbt, MLflow or kubectl: the baseline of a realistic incremental plan.
SEED_STATE_SCRIPT = '''\
import sys
from pathlib import Path

from compiler import __version__
from compiler.emit.compile import compile_project
from compiler.emit.manifest import sha256
from compiler.front.check import require_project
from compiler.plan.baseline import applied_dir
from compiler.plan.scope import artifact_in_scope, head_snapshots
from compiler.apply.state import load_state, save_state
from compiler.output.write import write_output

root, env = Path(sys.argv[1]), sys.argv[2]
project = require_project(root)
compiled = compile_project(project)
state = load_state(root, env)
state.resources = head_snapshots(project, env)
kept = [a for a in compiled.artifacts if artifact_in_scope(a.key, env)]
state.artifacts = {a.key: sha256(a.content) for a in kept}
state.pending = {}
state.serial += 1
state.tool_version = __version__
save_state(root, state)
write_output(applied_dir(root, env), [type(a)(a.key.replace(":", "/", 1), a.content, a.owners, "output") for a in kept],
             guard=False)
print(f"state of {env}: {len(state.resources)} resources, {len(state.artifacts)} artifacts")
'''
