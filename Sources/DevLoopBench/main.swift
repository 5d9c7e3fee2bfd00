// devloop-bench: benchmarks that print figures (filled by the sync-engine issue).
print("devloop-bench: no benchmarks yet")
