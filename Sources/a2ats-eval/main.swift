print("a2ats-eval")
