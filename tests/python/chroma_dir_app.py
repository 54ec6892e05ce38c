"""The app's side of a Chroma persistent directory: the unmodified chromadb PersistentClient and
Vanna's ChromaDB_VectorStore(config={"path": DIR}), as the Python app opens it.

    python chroma_dir_app.py check DIR MODEL_DIR SHARED_TOOLS_DIR EXPECTED_JSON
        every DDL, documentation item and pair is there with Vanna's ids; the related-DDL /
        documentation / similar-SQL queries find the expected items; every stored embedding equals
        the numpy reference's (max abs difference printed)
    python chroma_dir_app.py add-pair DIR MODEL_DIR SHARED_TOOLS_DIR QUESTION SQL
        what the app does when a user confirms a query (Vanna's add_question_sql)
    python chroma_dir_app.py dump DIR
        {collection: {id: {"document", "metadata", "embedding"}}} on stdout, through the client
    python chroma_dir_app.py create DIR N [DIM]
        chromadb itself creates the directory with N records (DIM dimensions, default 384) in
        collection "ddl"
    python chroma_dir_app.py add-raw DIR COLLECTION ID DOCUMENT
        the app adds a record of its own (no metadata) with the embedding of the collection's
        first record
    python chroma_dir_app.py version
        the chromadb version

Prints one JSON line; exits non-zero with a message on any mismatch.
"""
import json
import sys

import chromadb
from chromadb.config import Settings

from vanna_app import check_training_data, make_app


def fail(msg):
    print(f"chroma_dir_app: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def client(path):
    return chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))


def app(path, model_dir, tools):
    return make_app({"path": path}, model_dir, tools)


def dump(path):
    c = client(path)
    out = {}
    for col in c.list_collections():
        name = col if isinstance(col, str) else col.name
        got = c.get_collection(name).get(include=["documents", "metadatas", "embeddings"])
        out[name] = {
            i: {"document": d, "metadata": m, "embedding": [float(x) for x in e]}
            for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
        }
    return out


def check(path, model_dir, tools, expected_path):
    import numpy as np

    expected = json.load(open(expected_path, encoding="utf-8"))
    a, model = app(path, model_dir, tools)
    counts = check_training_data(a, expected, fail)
    worst = 0.0
    ids = {}
    for name, recs in dump(path).items():
        ids[name] = sorted(recs)
        for i, r in recs.items():
            ref = np.asarray(model.embed(r["document"]), dtype=np.float32)
            worst = max(worst, float(np.max(np.abs(ref - np.asarray(r["embedding"], dtype=np.float32)))))
    if worst > 1e-4:
        fail(f"stored embeddings differ from the numpy reference by up to {worst}")
    print(json.dumps({"ok": True, "counts": counts, "max_abs_diff": worst, "ids": ids}))


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        check(*sys.argv[2:6])
    elif cmd == "add-pair":
        path, model_dir, tools, q, sql = sys.argv[2:7]
        a, _ = app(path, model_dir, tools)
        print(json.dumps({"id": a.add_question_sql(question=q, sql=sql)}))
    elif cmd == "dump":
        print(json.dumps(dump(sys.argv[2])))
    elif cmd == "add-raw":
        path, name, rid, doc = sys.argv[2:6]
        col = client(path).get_collection(name, embedding_function=None)
        first = col.get(limit=1, include=["embeddings"])["embeddings"][0]
        col.add(ids=[rid], documents=[doc], embeddings=[list(first)])
        print(json.dumps({"count": col.count()}))
    elif cmd == "create":
        path, n = sys.argv[2], int(sys.argv[3])
        dim = int(sys.argv[4]) if len(sys.argv) > 4 else 384
        import random

        rnd = random.Random(7)
        col = client(path).get_or_create_collection("ddl", embedding_function=None)
        ids = [f"chroma-{i}-ddl" for i in range(n)]
        vecs = [[rnd.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]
        for s in range(0, n, 500):
            col.add(ids=ids[s:s + 500], documents=[f"CREATE TABLE t{i} (x INTEGER)" for i in range(s, min(n, s + 500))],
                    embeddings=vecs[s:s + 500], metadatas=[{"made_by": "chromadb", "n": i} for i in range(s, min(n, s + 500))])
        print(json.dumps({"count": col.count()}))
    elif cmd == "version":
        print(json.dumps({"version": chromadb.__version__}))
    else:
        fail(f"unknown command {cmd}")


main()
