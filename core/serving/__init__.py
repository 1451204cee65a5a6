"""The REST service (FastAPI): recommendations, similar items, coupons, feedback, live A/B tests.

    from core.serving import create_app
    app = create_app("sqlite:///var/recolm.db")  # then uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from core.serving.app import ServingConfig, create_app

__all__ = ["ServingConfig", "create_app"]
