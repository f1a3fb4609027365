"""Operations endpoints: the outbox's dead letters, for the brand's owners, admins and finance staff."""

from flask.views import MethodView

from app.auth.request import staff_only
from app.blueprint import Blueprint
from app.extensions import db
from app.platform import deadletters
from app.platform.schemas import DeadLetterQuery, DeadLetterSchema
from app.uow import transactional

blp = Blueprint("operations", __name__, url_prefix="/operations",
                description="Dead letters: events whose handlers failed every attempt, and their retry")


@blp.route("/dead-letters")
class DeadLetters(MethodView):
    @blp.arguments(DeadLetterQuery, location="query")
    @blp.response(200, DeadLetterSchema(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """Events of my tenant that failed every attempt, oldest first (brand owner, admin, finance)."""
        return deadletters.list_dead_letters(db.session, staff_only(), **query)


@blp.route("/dead-letters/<uuid:event_id>/retry")
class RetryDeadLetter(MethodView):
    @blp.response(200, DeadLetterSchema)
    @blp.errors(401, 403, 404, 409)
    @transactional
    def post(self, event_id):
        """Give a dead event fresh attempts; the relay runs it after the commit (audited)."""
        return deadletters.retry_dead_letter(db.session, staff_only(), event_id=event_id)
