import streamlit as st

st.title("experiments")
st.info("Coming soon.")
