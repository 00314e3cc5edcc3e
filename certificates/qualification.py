"""The qualification rule lives in the core (training.services.qualification) so that the HR
dashboard, the API and certificates all use the one function; this module is its certificates face."""
from training.services.qualification import (is_digitally_capable, qualified_condition,  # noqa: F401
                                             qualifying_records, required_competencies, valid_records)
