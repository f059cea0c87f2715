from servicebook.cli import entry

entry()
