"""The cross-file rules, in the order they run: one table (each rule: Context -> diagnostics).

`check_references` runs first, on its own: the deployments' aliases are resolved and the graph built
from what it leaves standing; then every rule of RULES.
"""

from __future__ import annotations

from compiler.front.rules import confinement as c
from compiler.front.rules import frameworks as f
from compiler.front.rules import graph_rules as g
from compiler.front.rules import k8s_names as k
from compiler.front.rules import placement as p
from compiler.front.rules import runners as r
from compiler.front.rules import seed_values as v
from compiler.front.rules import seeds as e
from compiler.front.rules import source_rules as s
from compiler.front.rules import sql_rules as q
from compiler.front.rules import types as t
from compiler.front.rules.context import Context, Rule
from compiler.front.rules.graph_rules import check_references

__all__ = ["RULES", "Context", "Rule", "check_references"]

RULES: tuple[Rule, ...] = (
    g.check_producers, g.check_cycles, g.check_sql, g.check_columns, g.check_ml_policy, g.check_deployments,
    g.check_gx_translation,
    t.check_schedules, t.check_column_types, t.check_names, t.check_model_gates, t.check_registry_names,
    t.check_shared_registries, t.check_canary_share,
    c.check_confinement, q.check_sql_columns, q.check_expressions, q.check_queries, r.check_runners,
    p.check_laptop_only,
    s.check_landed_sources, s.check_source_databases, e.check_seed_headers, v.check_seed_values,
    f.check_frameworks,
    k.check_shared_namespaces, k.check_object_names,
)
