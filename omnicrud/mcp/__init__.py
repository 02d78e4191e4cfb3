"""The resources as MCP tools for LLM agents (``OMNICRUD_MCP=true``, served at ``/mcp``).

Built on the official ``mcp`` SDK (the optional extra ``omnicrud[mcp]``); imported by the
app only when the setting is on. Tools call the same ``CrudService`` as the REST routes,
under the same authentication and scopes.
"""

from .http import PATH, McpEndpoint
from .tools import Catalog

__all__ = ["PATH", "Catalog", "McpEndpoint"]
