"""What the small end-to-end harnesses (tests/grep, tests/debug, tests/inspect)
share: a failed check, and the ending CTest reads (a closing
'N passed, N failed' line and the exit status)."""
import sys


class Fail(Exception):
    """A check that did not hold; the message says what was expected."""


def run_main(main):
    """Run main() (returns the number of checks passed), print the closing
    line and exit: 0 all passed, 1 a check failed, 77 skipped (main returns
    None after saying why)."""
    try:
        checks = main()
    except Fail as e:
        print("FAIL: %s" % e)
        print("0 passed, 1 failed")
        sys.exit(1)
    if checks is None:
        sys.exit(77)
    print("%d passed, 0 failed" % checks)
    sys.exit(0)
