"""Read what `vannactl train` wrote to Chroma through Vanna's own ChromaDB_VectorStore.

    python vanna_roundtrip.py HOST PORT MODEL_DIR SHARED_TOOLS_DIR EXPECTED_JSON

EXPECTED_JSON: see vanna_app.check_training_data. Exits non-zero with a message on any mismatch.
"""
import json
import sys

import chromadb

from vanna_app import check_training_data, make_app

host, port, model_dir, tools, expected_path = sys.argv[1:6]


def fail(msg):
    print(f"vanna_roundtrip: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


expected = json.load(open(expected_path, encoding="utf-8"))
app, _ = make_app({"client": chromadb.HttpClient(host=host, port=int(port))}, model_dir, tools)
counts = check_training_data(app, expected, fail)
print(json.dumps({"ok": True, "counts": counts}))
