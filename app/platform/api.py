"""Operations endpoints: the outbox's dead letters, for the brand's owners, admins and finance staff."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.paging import page_of
from app.platform import deadletters
from app.platform.schemas import DeadLetterQuery, DeadLetterSchema

blp = Blueprint("operations", __name__, url_prefix="/operations",
                description="Dead letters: events whose handlers failed every attempt, and their retry")


@blp.route("/dead-letters")
class DeadLetters(TransactionalView):
    @blp.arguments(DeadLetterQuery, location="query")
    @blp.response(200, page_of(DeadLetterSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Events of my tenant that failed every attempt, oldest first (brand owner, admin, finance)."""
        return deadletters.list_dead_letters(db.session, staff_only(), **query)


@blp.route("/dead-letters/<uuid:event_id>/retry")
class RetryDeadLetter(TransactionalView):
    @blp.response(200, DeadLetterSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, event_id):
        """Give a dead event fresh attempts; the relay runs it after the commit (audited)."""
        return deadletters.retry_dead_letter(db.session, staff_only(), event_id=event_id)
