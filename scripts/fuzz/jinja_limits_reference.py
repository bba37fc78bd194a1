#!/usr/bin/env python3
"""Reference outputs of jinja2's sandbox (as transformers renders chat templates) for the
integer corners JinjaLimitsTests checks: Python's floor division and modulo, powers, range
limits, and the results that leave 64 bits. Run with jinja2 installed (a throwaway venv):
    python3 scripts/fuzz/jinja_limits_reference.py
"""
from jinja2.sandbox import ImmutableSandboxedEnvironment

ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
CASES = [
    "{{ -7 // 2 }} {{ -7 % 2 }} {{ 7 // -2 }} {{ 7 % -2 }} {{ -8 // 2 }} {{ 6 % 3 }}",
    "{{ 2 ** 10 }} {{ 0 ** 0 }} {{ (-1) ** 65 }} {{ (-2) ** 3 }} {{ 1 ** 1000 }}",
    "{{ range(3) | list }} {{ range(5, 0, -2) | list }} {{ range(100000) | length }}",
    "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ 'x' * -1 }}|{{ -3.7 | int }} {{ -5 | abs }}",
    "{{ 9223372036854775807 + 1 }}",
    "{{ 2 ** 64 }}",
    "{{ 1e300 | int }}",
    "{{ range(100001) | length }}",
    "{{ range(-9223372036854775807, 9223372036854775807) | length }}",
]
for source in CASES:
    try:
        print(repr(source), "->", repr(ENV.from_string(source).render()))
    except Exception as error:
        print(repr(source), "-> raises", type(error).__name__, str(error)[:80])
