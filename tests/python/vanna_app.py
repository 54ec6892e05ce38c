"""The app's side of the knowledge base in the tests: Vanna's own ChromaDB_VectorStore, with the numpy
MiniLM reference (../shared/tools/minilm_reference.py) as its embedding function, which computes what
ChromaDB's default embedding function does. Only the vector store matters; the LLM hooks are unused.
Imported by vanna_roundtrip.py (a Chroma server) and chroma_dir_app.py (a persistent directory)."""
import json
import sys

from chromadb import Documents, EmbeddingFunction, Embeddings


def make_app(config, model_dir, tools):
    """(app, model): the store opened with `config` ({"client": ...} or {"path": ...})."""
    sys.path.insert(0, tools)
    from minilm_reference import MiniLM
    from vanna.legacy.chromadb import ChromaDB_VectorStore

    class MiniLMFunction(EmbeddingFunction):
        def __init__(self, model):
            self.model = model

        def __call__(self, input: Documents) -> Embeddings:
            return [self.model.embed(t) for t in input]

    class App(ChromaDB_VectorStore):
        def system_message(self, message):
            return message

        def user_message(self, message):
            return message

        def assistant_message(self, message):
            return message

        def submit_prompt(self, prompt, **kwargs):
            raise NotImplementedError("no LLM in this test")

    model = MiniLM(model_dir)
    return App(config={**config, "embedding_function": MiniLMFunction(model), "n_results": 3}), model


def check_training_data(app, expected, fail):
    """Every item of EXPECTED is there (Vanna's get_training_data) and each query's top result holds
    its needle. EXPECTED: {"ddl": [docs], "documentation": [docs], "sql": [{"question", "sql"}],
    "queries": {"ddl": [question, needle], ...}}. Returns the counts per kind."""
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
    checks = {"ddl": app.get_related_ddl, "documentation": app.get_related_documentation, "sql": app.get_similar_question_sql}
    for kind, (question, needle) in expected["queries"].items():
        results = checks[kind](question)
        if not results:
            fail(f"{kind}: nothing retrieved for {question!r}")
        top = results[0]
        text = json.dumps(top, ensure_ascii=False) if isinstance(top, dict) else top
        if needle not in text:
            fail(f"{kind}: top result for {question!r} does not contain {needle!r}: {text[:200]!r}")
    return {k: len(v) for k, v in got.items()}
