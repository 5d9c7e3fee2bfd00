#!/usr/bin/env python3
"""Validates JSON instances against a JSON Schema (draft 2020-12, formats checked).

usage: check-schema.py SCHEMA INSTANCE.json...
Prints one line per instance: `NAME<TAB>valid` or `NAME<TAB>invalid<TAB>PATH: MESSAGE`.
Exit 0 when it could judge every instance (valid or not), 3 when jsonschema is missing.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("check-schema.py: the Python package jsonschema is missing (./dev/setup.sh installs it)", file=sys.stderr)
    sys.exit(3)


def main():
    with open(sys.argv[1]) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for name in sys.argv[2:]:
        with open(name) as handle:
            instance = json.load(handle)
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
        if errors:
            where = ".".join(str(part) for part in errors[0].absolute_path) or "(top level)"
            print(f"{name}\tinvalid\t{where}: {errors[0].message}")
        else:
            print(f"{name}\tvalid")


main()
