"""The Salesforce CRM provider (CRM_PROVIDER=salesforce): REST API over aiohttp, signed in
with the OAuth 2.0 JWT bearer flow (PyJWT, RS256).

Modules: settings.py, auth.py (the assertion and the session), client.py (the HTTP
session, re-authentication, SOQL paging, composite, the Sforce-Limit-Info usage),
errors.py (answers -> provider errors), soql.py (escaped IN queries), mapping.py (records
<-> sObjects and their fields), checks.py and provider.py. Each module's docstring holds
its decisions; docs/providers.md "Salesforce" lists the org setup they need.
"""

from app.providers.crm.salesforce.provider import SalesforceCrmProvider
from app.providers.crm.salesforce.settings import API_VERSION, SalesforceSettings

__all__ = ["API_VERSION", "SalesforceCrmProvider", "SalesforceSettings"]
