"""RecoLM engine: data ingestion, recommenders, evaluation, experiments and coupon targeting.

Plain Python, no Streamlit: usable from the dashboard, the CLI (`python -m core`) and scripts.
"""
