"""Recipes, written with ``@event(EventClass)``.

``Recipe`` declares its event classes in its body (fields as annotations, no ``apply``)
and names each one in the ``@event`` decorator of the method that records it; the
method's body is how the event changes the recipe. Here the rule is checked inside the
decorated body: raising there stops the event before it is kept, and on replay the
rule holds, because the history only holds events that passed it.
"""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding


class RecipeLocked(Exception):
    """A published recipe takes no more ingredients."""


class Recipe(Aggregate):
    class Drafted(Aggregate.Created):
        title: str
        servings: int
        author_id: UUID
        cuisine: str | None

    class IngredientAdded(Aggregate.Event):
        name: str
        quantity: Decimal
        unit: str
        optional: bool

    class Published(Aggregate.Event):
        published_at: datetime
        tags: list[str]

    class Rated(Aggregate.Event):
        stars: int
        cooked_on: date
        notes: dict[str, Any]

    @event(Drafted)
    def __init__(self, title: str, servings: int, author_id: UUID, cuisine: str | None) -> None:
        self.title = title
        self.servings = servings
        self.author_id = author_id
        self.cuisine = cuisine
        self.ingredients: list[dict[str, Any]] = []
        self.published_at: datetime | None = None
        self.tags: list[str] = []
        self.ratings: list[int] = []

    @event(IngredientAdded)
    def add_ingredient(
        self, name: str, quantity: Decimal, unit: str, optional: bool = False
    ) -> None:
        if self.published_at is not None:
            raise RecipeLocked(f"{self.title!r} is published; draft a new version instead")
        self.ingredients.append(
            {"name": name, "quantity": quantity, "unit": unit, "optional": optional}
        )

    @event(Published)
    def publish(self, published_at: datetime, tags: list[str]) -> None:
        self.published_at = published_at
        self.tags = list(tags)

    @event(Rated)
    def rate(self, stars: int, cooked_on: date, notes: dict[str, Any]) -> None:
        self.ratings.append(stars)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Cookbook(Application):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def draft(self, title: str, servings: int, author_id: UUID, cuisine: str | None = None) -> UUID:
        recipe = Recipe(title=title, servings=servings, author_id=author_id, cuisine=cuisine)
        self.save(recipe)
        return recipe.id

    def add_ingredient(
        self, recipe_id: UUID, name: str, quantity: Decimal, unit: str, optional: bool = False
    ) -> None:
        recipe: Recipe = self.repository.get(recipe_id)
        recipe.add_ingredient(name, quantity, unit, optional)
        self.save(recipe)

    def publish(self, recipe_id: UUID, published_at: datetime, tags: list[str]) -> None:
        recipe: Recipe = self.repository.get(recipe_id)
        recipe.publish(published_at, tags)
        self.save(recipe)

    def rate(self, recipe_id: UUID, stars: int, cooked_on: date, notes: dict[str, Any]) -> None:
        recipe: Recipe = self.repository.get(recipe_id)
        recipe.rate(stars, cooked_on, notes)
        self.save(recipe)

    def shopping_list(self, recipe_id: UUID, servings: int) -> list[str]:
        recipe: Recipe = self.repository.get(recipe_id)
        scale = Decimal(servings) / Decimal(recipe.servings)
        lines = []
        for item in recipe.ingredients:
            line = f"{item['quantity'] * scale:f} {item['unit']} {item['name']}"
            lines.append(line + (" (optional)" if item["optional"] else ""))
        return lines


AUTHOR = UUID("9e3b5c1a-2d4f-4b6e-8a0c-7f1e3d5b9a03")
PUBLISHED_AT = datetime(2024, 4, 6, 10, 30, tzinfo=timezone(timedelta(hours=-5)))


def scenario(app: Cookbook) -> list[UUID]:
    shakshuka = app.draft("Shakshuka", 2, AUTHOR, "North African")
    toast = app.draft("Plain toast", 1, AUTHOR)
    app.add_ingredient(shakshuka, "eggs", Decimal("4"), "pcs")
    app.add_ingredient(shakshuka, "tomatoes", Decimal("400"), "g")
    app.add_ingredient(shakshuka, "feta", Decimal("50"), "g", optional=True)
    app.publish(shakshuka, PUBLISHED_AT, ["vegetarian", "brunch"])
    app.rate(shakshuka, 5, date(2024, 4, 7), {"spice": "more cumin", "served_with": ["bread"]})
    return [shakshuka, toast]


def break_rule(app: Cookbook, ids: list[UUID]) -> None:
    app.add_ingredient(ids[0], "chorizo", Decimal("100"), "g")


def ask(app: Cookbook, ids: list[UUID]) -> list[str]:
    return app.shopping_list(ids[0], servings=4)


APP = Cookbook

EXPECTED: dict[str, Any] = {
    "aggregate": "Recipe",
    "aggregates": ["Recipe", "Recipe"],
    "event_types": {
        "Recipe.Drafted",
        "Recipe.IngredientAdded",
        "Recipe.Published",
        "Recipe.Rated",
    },
    "events": 7,
    "final_state": {
        0: {
            "version": 6,
            "title": "Shakshuka",
            "servings": 2,
            "author_id": AUTHOR,
            "cuisine": "North African",
            "ingredients": [
                {"name": "eggs", "quantity": Decimal("4"), "unit": "pcs", "optional": False},
                {"name": "tomatoes", "quantity": Decimal("400"), "unit": "g", "optional": False},
                {"name": "feta", "quantity": Decimal("50"), "unit": "g", "optional": True},
            ],
            "published_at": PUBLISHED_AT,
            "tags": ["vegetarian", "brunch"],
            "ratings": [5],
        },
        1: {
            "version": 1,
            "title": "Plain toast",
            "cuisine": None,
            "ingredients": [],
            "published_at": None,
            "ratings": [],
        },
    },
    "error": "RecipeLocked",
    "query": ["8 pcs eggs", "800 g tomatoes", "100 g feta (optional)"],
}
