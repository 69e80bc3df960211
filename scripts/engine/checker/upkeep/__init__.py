"""Course upkeep: every carried lab file rewritten from its owner (labsync), the README's
generated parts (readme), the requirements exported from uv.lock (requirements), and the
pinned versions (versions)."""
