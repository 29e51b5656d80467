"""``fdl.viz``: plots written to PNG files (matplotlib, Agg backend)."""

from fdl.viz._boundaries import plot_decision_boundary as plot_decision_boundary
from fdl.viz._confusion import plot_confusion_matrix as plot_confusion_matrix
from fdl.viz._curves import plot_accuracy as plot_accuracy
from fdl.viz._curves import plot_loss as plot_loss
from fdl.viz._files import save_figure as save_figure
from fdl.viz._filters import plot_conv_filters as plot_conv_filters
from fdl.viz._histograms import plot_activation_histograms as plot_activation_histograms
from fdl.viz._templates import plot_weight_templates as plot_weight_templates
