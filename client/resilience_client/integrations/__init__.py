"""Report what libraries a service already uses do: tenacity, pybreaker, Celery.

Each integration is its own module and imports its library only when imported itself,
so `import resilience_client` works without any of them installed. Install one with
its extra: `pip install 'resilience-client[tenacity]'` (or `[pybreaker]`, `[celery]`).
"""
