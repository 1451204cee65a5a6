import streamlit as st

st.title("campaigns")
st.info("Coming soon.")
