import streamlit as st

st.title("data_profile")
st.info("Coming soon.")
