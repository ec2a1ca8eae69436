from compiler.entry import run

run()
