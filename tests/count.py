#!/usr/bin/env python3
"""Sum the individual test cases of one or more meson test logs.

Check suites report "Checks: N, Failures: F, Errors: E" and pytest reports
"N passed, M failed, K skipped"; a test that prints neither counts as one
case. A test that crashed or timed out without a summary counts as failed.
Prints the closing line "N passed, N failed[, N skipped]"."""
import json
import re
import sys

CHECK = re.compile(r'Checks: (\d+), Failures: (\d+), Errors: (\d+)')
# pytest's closing line: "=== 3 passed, 1 skipped in 2.1s ===", or with -q
# "3 passed, 1 skipped in 2.1s" (no rule around it).
PYTEST = re.compile(r'^(?:=+ )?(\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b.*?)'
                    r' in [\d.]+s', re.M)


def count(entry):
    out = (entry.get('stdout') or '') + (entry.get('stderr') or '')
    ok = entry.get('result') in ('OK', 'EXPECTEDFAIL')
    m = CHECK.findall(out)
    if m:
        total = sum(int(a) for a, _, _ in m)
        bad = sum(int(b) + int(c) for _, b, c in m)
        if not ok and bad == 0:
            bad = 1  # crashed or leaked after its summary
        return total - bad, bad, 0
    m = PYTEST.findall(out)
    if m:
        words = dict((k, int(v)) for v, k in re.findall(r'(\d+) (\w+)', m[-1]))
        bad = words.get('failed', 0) + words.get('errors', 0) + words.get('error', 0)
        if not ok and bad == 0:
            bad = 1
        return words.get('passed', 0) + words.get('xpassed', 0), bad, words.get('skipped', 0)
    if entry.get('result') == 'SKIP':
        return 0, 0, 1
    return (1, 0, 0) if ok else (0, 1, 0)


def main():
    passed = failed = skipped = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                p, b, s = count(json.loads(line))
                passed, failed, skipped = passed + p, failed + b, skipped + s
    tail = ', %d skipped' % skipped if skipped else ''
    print('%d passed, %d failed%s' % (passed, failed, tail))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
