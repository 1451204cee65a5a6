import streamlit as st

st.title("recommendations")
st.info("Coming soon.")
