"""The HTTP handlers, one module per resource; the only code besides `app` that knows Starlette."""
