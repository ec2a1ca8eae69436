"""Backends: pure functions from the checked project to generated files (compiler.emit.registry).

Each backend is a package (dbt, docker, github, kubernetes) whose work comes in Units that make
Artifacts (compiler.emit.base); `compile` runs them all and adds the manifest (compiler.emit.compile).
"""
