"""The process underneath: allocators that return memory, and writes that survive a crash."""
