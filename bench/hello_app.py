"""The framework's ceiling: a bare Flask app answering "Hello", served like the portal."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello"
