#!/usr/bin/env python3
"""Builds Sources/A2ATSTasks/Data/calibration.txt: the prose A2ATS calibration runs through the model.

Source: Jane Austen, *Pride and Prejudice* (1813), Project Gutenberg eBook #1342, the file
`1342-0.txt` of github.com/gutenbergbooks/1342 at commit 041e520899f9a02af517d6cb253bc1fdfbf923e2
(the file states it is "confirmed to be in the PUBLIC DOMAIN IN THE UNITED STATES").
No task draws on this text: RULER's essay haystack is the US Constitution and Alice in
Wonderland, and the QA contexts are written over the Constitution (see PROVENANCE.md);
CalibrationTextTests checks that no 50-character span is shared.

Kept: the novel from "It is a truth universally acknowledged" to the end of its last chapter.
Dropped: illustration captions in [brackets], the printer's colophon; white space collapsed
to single spaces within paragraphs, one paragraph per line.

Usage: make_calibration_text.py 1342-0.txt > Sources/A2ATSTasks/Data/calibration.txt
"""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("It is a truth universally acknowledged")
end = text.rindex("CHISWICK PRESS")
body = text[start:end]
body = re.sub(r"\[[^\]]*\]", " ", body)          # illustration captions
paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
paragraphs = [p for p in paragraphs if len(p) > 1 and not re.fullmatch(r"(CHAPTER|Chapter)\s+[IVXLC]+\.?", p)]
sys.stdout.write("\n".join(paragraphs).rstrip() + "\n")
