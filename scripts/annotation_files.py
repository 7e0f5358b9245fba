"""Reading datasets' annotation files in the scripts that prepare evaluation inputs (caption_results.py,
objectnet_labels.py, retrieval_inputs.py): a file that cannot be read, is not UTF-8 text or is not JSON stops
the script with a message naming the file, not with a traceback."""
import json
import pathlib
import sys


def fail(script, message):
    sys.exit(f"{script}: {message}")


def read_text(script, path):
    try:
        return pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(script, f"{path}: cannot read it as UTF-8 text ({error})")


def read_json(script, path):
    text = read_text(script, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        fail(script, f"{path}: not JSON ({error})")
