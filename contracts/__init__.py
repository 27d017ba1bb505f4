"""Solidity sources; build/ holds the compiled artifacts, shipped as package data."""
