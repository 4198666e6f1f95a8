"""Shared UI pieces of the Streamlit app: the page registry, plotly figure builders, widgets."""
