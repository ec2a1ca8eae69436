from compiler.cli.entry import run

run()
