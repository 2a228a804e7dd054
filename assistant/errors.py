"""The assistant package's error tree; library errors are wrapped into these where they enter our code."""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error raised by `assistant`. The message says what happened and what to do next."""


class LLMUnavailable(AssistantError):
    """The configured LLM server cannot be reached or refused the request."""


class RetrievalUnavailable(AssistantError):
    """The vector store cannot be reached."""


class NotAllowed(AssistantError):
    """The asking user may not do this."""


class InvalidQuestion(AssistantError):
    """The question cannot be asked as it is (empty, or too long for the model); the message says what to do."""


class LLMServerError(AssistantError):
    """The LLM server could not be started, did not become ready, or died."""


class AccountsUnavailable(AssistantError):
    """The accounts' database cannot be reached or refused a statement (the message names it and what to check)."""


class AccountError(AssistantError):
    """An account request refused as asked (a bad name, a role or a group that cannot work); the children say why."""


class UnknownUser(AccountError):
    """No account has this name."""


class UnknownKey(AccountError):
    """No API key has this id."""


class UserExists(AccountError):
    """An account with this name exists already."""


class WeakPassword(AccountError):
    """The password breaks the policy (too short, the user's name); the message says what a password needs, never
    the password."""


class LastAdmin(AccountError):
    """The change would leave no admin: nobody could manage accounts or documents any more."""


class SignInRefused(AccountError):
    """Wrong name or password. The same error, after comparable work, whether the name exists or not."""


class SignInThrottled(SignInRefused):
    """Too many failed sign-ins for this name lately: refused without checking the password until `retry_after`
    seconds have passed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SingleSignOnRefused(SignInRefused):
    """A person the identity provider vouched for is not let in: the claims name no account Enclave can have, an
    admin removed the account, or there is no admin yet. Unlike a wrong password, the message says which: the provider
    has already told who this is."""


class AuditError(AssistantError):
    """The audit trail could not be read or written (the message names the database and what to check). For an
    admin's change it stops the change, or reports it unrecorded; for a question it is logged and the answer given."""


class AuditUnavailable(AuditError):
    """The audit trail's database cannot be reached or refused a statement."""


class ConversationsUnavailable(AssistantError):
    """The conversations' database cannot be reached or refused a statement (the message names it and what to check)."""


class ConversationError(AssistantError):
    """A conversation request refused as asked (an empty title, a rating that is not up or down); the children say
    why."""


class ConversationNotFound(ConversationError):
    """No conversation with this id is the asking user's: the same error whether it does not exist, was deleted or
    purged, or is someone else's (which of these it was is not for the asker)."""
