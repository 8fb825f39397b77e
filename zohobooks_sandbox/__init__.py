"""A faithful local emulator of Zoho Books API v3 and Zoho Accounts OAuth."""
