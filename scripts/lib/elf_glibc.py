#!/usr/bin/env python3
"""Prints the newest glibc symbol version an ELF binary needs (GLIBC_x.y in its dynamic
string table), or "none" for a static binary. The argument is the binary, or a Lambda zip
holding it as `bootstrap`.

usage: elf_glibc.py BINARY_OR_ZIP
"""
import re
import sys
import zipfile


def main():
    path = sys.argv[1]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            data = z.read("bootstrap")
    else:
        data = open(path, "rb").read()
    if data[:4] != b"\x7fELF":
        sys.exit(f"{path}: not an ELF binary")
    versions = {tuple(int(p) for p in m.groups() if p) for m in re.finditer(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\x00", data)}
    print(".".join(map(str, max(versions))) if versions else "none")


if __name__ == "__main__":
    main()
