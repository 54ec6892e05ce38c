"""Verify a bcrypt hash the way the Python app does: exit 0 when the password matches, 1 when not.

Usage: check_bcrypt.py HASH  (password on stdin, first line)
"""
import sys

import bcrypt

hashed = sys.argv[1].encode()
password = sys.stdin.readline().rstrip("\n").encode()
if not hashed.startswith(b"$2b$"):
    print(f"not a $2b$ hash: {hashed[:7]!r}", file=sys.stderr)
    sys.exit(2)
sys.exit(0 if bcrypt.checkpw(password, hashed) else 1)
