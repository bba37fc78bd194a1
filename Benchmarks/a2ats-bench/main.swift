print("a2ats-bench")
