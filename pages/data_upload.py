import streamlit as st

st.title("data_upload")
st.info("Coming soon.")
