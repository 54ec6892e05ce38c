"""Read what `vannactl train` wrote to Chroma through Vanna's own ChromaDB_VectorStore.

    python vanna_roundtrip.py HOST PORT MODEL_DIR SHARED_TOOLS_DIR EXPECTED_JSON

EXPECTED_JSON: {"ddl": [docs], "documentation": [docs], "sql": [{"question", "sql"}],
"queries": {"ddl": [question, expected substring], "documentation": [...], "sql": [...]}}.
The embedding function computes the same all-MiniLM-L6-v2 vectors with the shared numpy reference
(what ChromaDB's default embedding function computes). Exits non-zero with a message on any mismatch.
"""
import json
import sys

import chromadb
from chromadb import Documents, EmbeddingFunction, Embeddings

host, port, model_dir, tools, expected_path = sys.argv[1:6]
sys.path.insert(0, tools)
from minilm_reference import MiniLM  # noqa: E402
from vanna.legacy.chromadb import ChromaDB_VectorStore  # noqa: E402


class MiniLMFunction(EmbeddingFunction):
    def __init__(self, model):
        self.model = model

    def __call__(self, input: Documents) -> Embeddings:
        return [self.model.embed(t) for t in input]


class App(ChromaDB_VectorStore):
    """The app's side: only the vector store matters here; the LLM hooks are unused."""

    def system_message(self, message):
        return message

    def user_message(self, message):
        return message

    def assistant_message(self, message):
        return message

    def submit_prompt(self, prompt, **kwargs):
        raise NotImplementedError("no LLM in this test")


def fail(msg):
    print(f"vanna_roundtrip: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


expected = json.load(open(expected_path, encoding="utf-8"))
client = chromadb.HttpClient(host=host, port=int(port))
app = App(config={"client": client, "embedding_function": MiniLMFunction(MiniLM(model_dir)), "n_results": 3})

df = app.get_training_data()
got = {t: sorted(df[df.training_data_type == t]["content"].tolist()) for t in ("ddl", "documentation", "sql")}
if got["ddl"] != sorted(expected["ddl"]):
    fail(f"ddl differs: got {len(got['ddl'])} items, expected {len(expected['ddl'])}")
if got["documentation"] != sorted(expected["documentation"]):
    fail(f"documentation differs: {got['documentation']!r} vs {expected['documentation']!r}")
if got["sql"] != sorted(p["sql"] for p in expected["sql"]):
    fail(f"sql differs: {got['sql']!r}")
questions = sorted(df[df.training_data_type == "sql"]["question"].tolist())
if questions != sorted(p["question"] for p in expected["sql"]):
    fail(f"questions differ: {questions!r}")

checks = {
    "ddl": app.get_related_ddl,
    "documentation": app.get_related_documentation,
    "sql": app.get_similar_question_sql,
}
for kind, (question, needle) in expected["queries"].items():
    results = checks[kind](question)
    if not results:
        fail(f"{kind}: nothing retrieved for {question!r}")
    top = results[0]
    text = json.dumps(top, ensure_ascii=False) if isinstance(top, dict) else top
    if needle not in text:
        fail(f"{kind}: top result for {question!r} does not contain {needle!r}: {text[:200]!r}")
print(json.dumps({"ok": True, "counts": {k: len(v) for k, v in got.items()}}))
