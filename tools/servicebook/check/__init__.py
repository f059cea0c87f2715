"""Rules over the loaded corpus that no single file can be held to (``cross``). Schema validation
of each file happens while it is read (``load.corpus``), so its result is cached with the file."""
