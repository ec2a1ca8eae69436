"""`specops plan`: what would change, resource by resource and file by file, with its impact."""
