"""Who may call the API (keys) and who may use the dashboard (accounts, roles, the sign-in policy)."""
