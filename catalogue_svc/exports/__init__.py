"""Exports of the firm's lists and requests, as CSV for spreadsheets and as the API's JSON."""
